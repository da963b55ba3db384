-- TIME_WAIT peaks per host over every capture point, as twscope merge
-- counts them: each holder's socket is in TIME_WAIT from its entry
-- (time_wait_end less the profile's TIME_WAIT length, 60 s here) until
-- time_wait_end, the next incarnation's first packet (prev_id), or the end
-- of its capture point's records, whichever comes first; a host's sockets
-- are summed over the capture points that saw it.
WITH last AS (
    SELECT capture_point, max("end") AS t FROM conns GROUP BY capture_point
), next AS (
    SELECT capture_point, prev_id, min(start) AS t FROM conns WHERE prev_id IS NOT NULL GROUP BY ALL
), held AS (
    SELECT c.capture_point, c.id, s.host, s.tw_end
    FROM conns c,
         LATERAL (VALUES (c.client_ip, c.client_side.time_wait_end),
                         (c.server_ip, c.server_side.time_wait_end)) AS s(host, tw_end)
    WHERE s.tw_end IS NOT NULL
), spans AS (
    SELECT h.host,
           h.tw_end - INTERVAL 60 SECOND                                        AS t0,
           least(h.tw_end, coalesce(n.t, h.tw_end), l.t + INTERVAL 1 MICROSECOND) AS t1
    FROM held h
    JOIN last l USING (capture_point)
    LEFT JOIN next n ON n.capture_point = h.capture_point AND n.prev_id = h.id
), steps AS (
    SELECT host, t0 AS t, 1 AS d FROM spans WHERE t1 > t0
    UNION ALL
    SELECT host, t1 AS t, -1 AS d FROM spans WHERE t1 > t0
), occupancy AS (
    SELECT host, t, sum(d) OVER (PARTITION BY host ORDER BY t, d ROWS UNBOUNDED PRECEDING) AS n
    FROM steps
)
SELECT host, max(n) AS time_wait_peak, arg_min(t, (-n, t)) AS peak_at
FROM occupancy
GROUP BY host
ORDER BY time_wait_peak DESC, host
LIMIT 5;
