-- A scheduled run belongs to a tick: the time its schedule named (the same
-- in every process serving the schedule). Several processes serve the same
-- schedules; the single-runner lock keeps two of them from running a job at
-- once, but a process whose clock fired a moment after another finished
-- would run the tick again. The first run of a (pipeline, tick) records it;
-- any later one finds it taken and is skipped. Manual runs (`fundflow run`)
-- and the periodic passes have no tick (NULL), and are never refused.
ALTER TABLE job_runs ADD COLUMN tick timestamptz;
CREATE UNIQUE INDEX job_runs_pipeline_tick ON job_runs (pipeline, tick) WHERE tick IS NOT NULL;
