#include "git_export.h"

#include <git2.h>

#include <cstring>

namespace nauto::configs {

namespace {

Error git_failure(const std::string& what) {
  const git_error* last = git_error_last();
  return fail(Errc::Library, "git export: " + what + ": " +
                                 (last && last->message ? last->message : "unknown error"));
}

// libgit2 objects freed by their own free function.
template <typename T, void (*Free)(T*)>
struct Owned {
  T* get = nullptr;
  Owned() = default;
  Owned(const Owned&) = delete;
  Owned& operator=(const Owned&) = delete;
  ~Owned() {
    if (get) Free(get);
  }
};

}  // namespace

struct GitExport::Repository {
  git_repository* repo = nullptr;
  ~Repository() {
    if (repo) git_repository_free(repo);
    git_libgit2_shutdown();
  }
};

std::string GitExport::file_name(const std::string& device) {
  std::string name;
  for (char c : device) {
    if (c == '%')
      name += "%25";
    else if (c == '/')
      name += "%2F";
    else
      name.push_back(c);
  }
  return name;
}

Result<std::unique_ptr<GitExport>> GitExport::open(GitExportOptions options) {
  auto repository = std::make_unique<Repository>();
  git_libgit2_init();
  if (git_repository_open_bare(&repository->repo, options.path.c_str()) != 0) {
    git_repository_init_options init = GIT_REPOSITORY_INIT_OPTIONS_INIT;
    init.flags = GIT_REPOSITORY_INIT_BARE | GIT_REPOSITORY_INIT_MKPATH;
    const std::string head = "refs/heads/" + options.branch;
    init.initial_head = head.c_str();
    if (git_repository_init_ext(&repository->repo, options.path.c_str(), &init) != 0)
      return git_failure("cannot create the repository " + options.path);
  }
  return std::unique_ptr<GitExport>(new GitExport(std::move(options), std::move(repository)));
}

GitExport::GitExport(GitExportOptions options, std::unique_ptr<Repository> repository)
    : options_(std::move(options)), repository_(std::move(repository)) {}

GitExport::~GitExport() = default;

Result<GitExportOutcome> GitExport::commit(const std::vector<GitFile>& files,
                                           const GitCommitInfo& info) {
  auto* repo = repository_->repo;
  const std::string ref = "refs/heads/" + options_.branch;
  GitExportOutcome outcome;
  Owned<git_commit, git_commit_free> parent;
  Owned<git_tree, git_tree_free> parent_tree;
  git_oid parent_id;
  if (git_reference_name_to_id(&parent_id, repo, ref.c_str()) == 0) {
    if (git_commit_lookup(&parent.get, repo, &parent_id) != 0 ||
        git_commit_tree(&parent_tree.get, parent.get) != 0)
      return git_failure("cannot read " + ref);
  }
  Owned<git_treebuilder, git_treebuilder_free> builder;
  if (git_treebuilder_new(&builder.get, repo, parent_tree.get) != 0)
    return git_failure("cannot build a tree");
  for (const auto& file : files) {
    git_oid blob;
    if (git_blob_create_from_buffer(&blob, repo, file.text.data(), file.text.size()) != 0)
      return git_failure("cannot store " + file.device);
    const auto name = file_name(file.device);
    if (const auto* existing = git_treebuilder_get(builder.get, name.c_str());
        existing && git_oid_equal(git_tree_entry_id(existing), &blob))
      continue;
    if (git_treebuilder_insert(nullptr, builder.get, name.c_str(), &blob, GIT_FILEMODE_BLOB) != 0)
      return git_failure("cannot add " + file.device);
    ++outcome.files;
  }
  if (outcome.files == 0) return outcome;
  git_oid tree_id;
  Owned<git_tree, git_tree_free> tree;
  if (git_treebuilder_write(&tree_id, builder.get) != 0 ||
      git_tree_lookup(&tree.get, repo, &tree_id) != 0)
    return git_failure("cannot write the tree");
  Owned<git_signature, git_signature_free> author, committer;
  const auto author_name = info.author.empty() ? std::string("nauto") : info.author;
  if (git_signature_new(&author.get, author_name.c_str(), (author_name + "@nauto").c_str(),
                        static_cast<git_time_t>(info.time_us / 1'000'000), 0) != 0 ||
      git_signature_new(&committer.get, "nautod", "nautod@nauto",
                        static_cast<git_time_t>(info.time_us / 1'000'000), 0) != 0)
    return git_failure("cannot sign the commit");
  git_oid commit_id;
  const git_commit* parents[] = {parent.get};
  if (git_commit_create(&commit_id, repo, ref.c_str(), author.get, committer.get, "UTF-8",
                        info.message.c_str(), tree.get, parent.get ? 1 : 0, parents) != 0)
    return git_failure("cannot commit");
  outcome.commit = git_oid_tostr_s(&commit_id);
  if (!options_.remote.empty()) {
    if (auto pushed = push(); !pushed) return std::move(pushed).error();
    outcome.pushed = true;
  }
  return outcome;
}

Result<void> GitExport::push() {
  Owned<git_remote, git_remote_free> remote;
  // Anonymous, and without url.<base>.insteadOf rewriting: the URL is the one configured. (The
  // rewriting matches a regex through which libgit2 1.5 leaks PCRE2 match data, fixed in 1.6:
  // libgit2/libgit2#6382.)
  git_remote_create_options create = GIT_REMOTE_CREATE_OPTIONS_INIT;
  create.repository = repository_->repo;
  create.flags = GIT_REMOTE_CREATE_SKIP_INSTEADOF | GIT_REMOTE_CREATE_SKIP_DEFAULT_FETCHSPEC;
  if (git_remote_create_with_opts(&remote.get, options_.remote.c_str(), &create) != 0)
    return git_failure("cannot reach the remote " + options_.remote);
  const std::string refspec = "refs/heads/" + options_.branch + ":refs/heads/" + options_.branch;
  char* specs[] = {const_cast<char*>(refspec.c_str())};
  git_strarray refspecs{specs, 1};
  git_push_options options = GIT_PUSH_OPTIONS_INIT;
  if (git_remote_push(remote.get, &refspecs, &options) != 0)
    return git_failure("cannot push to " + options_.remote);
  return ok();
}

}  // namespace nauto::configs
