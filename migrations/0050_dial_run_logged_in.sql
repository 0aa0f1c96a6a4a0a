-- The agent-seconds a run had its agents available: the span it dialed for (not the drain of the calls
-- still up at its end) less the agents' breaks, as the engine counts it. Occupancy in `report campaign`
-- divides by this; runs recorded before it (NULL) count agents x (sim_end - sim_start).
ALTER TABLE dial_runs ADD COLUMN logged_in_s REAL;
