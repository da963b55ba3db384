// Package testenv tells tests what the machine has, as Go's own
// internal/testenv does: a test that needs an outside tool (tshark,
// Chromium, DuckDB) fails in CI, where .ci/run installs it, and skips
// elsewhere with the way to install it. It lives under reassembly, the
// bottom of the import graph, so that the tests of every package can use
// it.
package testenv
