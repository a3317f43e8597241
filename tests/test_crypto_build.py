"""How the extension's crypto library (aws-lc, under rustls and object_store) is built: it seeds
its random generator from the operating system, with no CPU-jitter entropy source compiled in.
The jitter source timed the CPU for 22 ms in each process's first TLS handshake
(`.cargo/config.toml` turns it off for every build of this repository)."""

import obstore


def test_the_extension_has_no_cpu_jitter_entropy_source() -> None:
    with open(obstore._obstore.__file__, "rb") as extension:
        binary = extension.read()
    assert b"aws-lc" in binary or b"aws_lc" in binary  # the search looks in the right library
    assert b"jent_entropy" not in binary
