// The syslog parser and the message classifier, on one datagram.
#include "fuzz_input.h"
#include "message_classifier.h"
#include "syslog_message.h"

using namespace nauto;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const auto classifier = syslog::MessageClassifier::create({}).value();
  auto message = syslog::parse_syslog(fuzz::text_of(data, size));
  if (message) (void)classifier.classify(message->text);
  return 0;
}
