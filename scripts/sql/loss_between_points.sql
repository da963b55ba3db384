-- Where a loss happened: one incarnation seen at two capture points (the
-- same Community ID and the same client ISN, so the same incarnation even
-- when a four-tuple is reused). Packets one point saw and the other did
-- not were lost between them (or took another path); a lost final ACK
-- shows as one client packet missing at the point nearer the server.
SELECT a.community_id,
       a.client_side.isn                             AS client_isn,
       a.capture_point                               AS seen_at,
       b.capture_point                               AS missing_at,
       a.client_side.packets - b.client_side.packets AS client_packets_missing,
       a.server_side.packets - b.server_side.packets AS server_packets_missing,
       b.final_ack                                   AS final_ack_at_missing
FROM conns a
JOIN conns b
  ON a.community_id = b.community_id
 AND a.client_side.isn = b.client_side.isn
 AND a.capture_point <> b.capture_point
WHERE a.client_side.packets > b.client_side.packets
   OR a.server_side.packets > b.server_side.packets
ORDER BY seen_at, missing_at, a.start, a.community_id;
