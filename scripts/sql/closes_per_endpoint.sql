-- Closes per server endpoint over every capture point: who closed first,
-- and who kept the TIME_WAIT.
SELECT server,
       count(*)                                                 AS connections,
       count(*) FILTER (closer = 'client')                      AS client_closed_first,
       count(*) FILTER (closer = 'server')                      AS server_closed_first,
       count(*) FILTER (time_wait_holder IN ('server', 'both')) AS server_held_time_wait,
       count(DISTINCT capture_point)                            AS capture_points
FROM conns
GROUP BY server
ORDER BY connections DESC, server
LIMIT 5;
