// Package communityid computes the Community ID flow hash (version 1 of
// corelight/community-id-spec), the string Zeek, Suricata, Arkime and
// Elastic put on their records of a flow, so that twscope's connection
// records join theirs. It needs nothing beyond the standard library.
package communityid
