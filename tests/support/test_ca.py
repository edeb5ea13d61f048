"""A test CA and a server certificate for 127.0.0.1 signed by it, made with the openssl
command in a test's own directory (the API test and benchmark serve HTTPS with them).

    make_ca(directory) -> (ca.crt, api.crt, api.key) paths
"""
import os
import subprocess


def _openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_ca(work):
    _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
             "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-days", "2",
             "-subj", "/CN=nauto test CA", cwd=work)
    _openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-keyout", "api.key", "-out", "api.csr", "-subj", "/CN=127.0.0.1", cwd=work)
    with open(os.path.join(work, "san.ext"), "w") as out:
        out.write("subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n")
    _openssl("x509", "-req", "-in", "api.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
             "-CAcreateserial", "-out", "api.crt", "-days", "2", "-extfile", "san.ext", cwd=work)
    return (os.path.join(work, "ca.crt"), os.path.join(work, "api.crt"),
            os.path.join(work, "api.key"))
