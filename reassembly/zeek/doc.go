// Package zeek emulates Zeek's TCP analyzer for one connection, so that
// twscope can give the conn_state and history Zeek would log for it. The
// caller (package reassembly's tracker) decides where a connection starts
// and who its originator is, decodes each segment once and hands it to
// Conn.Observe.
package zeek
