//! Shared nothing: the test binaries under scenarios/ and e2e/ are the content of this package.
