//! End-to-end tests of Alliance ID live in `tests/`: they run the real binaries
//! (`alliance-registry`, `alliance-issuer`) as processes on loopback and drive them with the
//! holder library and the verifier. This library is empty.
