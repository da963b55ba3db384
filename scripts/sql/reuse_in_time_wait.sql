-- Four-tuples reused inside TIME_WAIT (the new SYN came less than the
-- profile's 60 s after the previous incarnation closed), per capture point.
SELECT capture_point,
       count(*) FILTER (reuse_gap_s IS NOT NULL)          AS reuses,
       count(*) FILTER (reuse_gap_s < 60)                 AS inside_time_wait,
       round(min(reuse_gap_s) FILTER (reuse_gap_s < 60), 6) AS shortest_gap_s
FROM conns
GROUP BY capture_point
ORDER BY capture_point;
