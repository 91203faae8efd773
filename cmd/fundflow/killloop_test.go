package main

import (
	"math/rand/v2"
	"time"
)

// killLoop SIGKILLs a run at random points. Kill times are uniform in a
// window that grows by grow after a kill that found the process still
// starting (no progress), so on a loaded machine kills still land all
// through the work.
type killLoop struct {
	rng          *rand.Rand
	window, grow time.Duration
	// Kills and MidWork count the kills, and those after progress moved.
	Kills, MidWork, Finished int
}

// once runs the work killed after a random time; run reports whether the
// kill landed (false: the run finished first).
func (k *killLoop) once(run func(after time.Duration) bool, progress func() int) bool {
	before := progress()
	if !run(time.Duration(k.rng.Int64N(int64(k.window)))) {
		k.Finished++
		return false
	}
	k.Kills++
	if progress() > before {
		k.MidWork++
	} else {
		k.window += k.grow
	}
	return true
}

// until kills runs until minKills kills with at least minMid of them mid
// work, at most maxKills, stopping early once progress reaches done (0:
// never).
func (k *killLoop) until(minKills, minMid, maxKills, done int, run func(after time.Duration) bool, progress func() int) {
	for (k.Kills < minKills || k.MidWork < minMid) && k.Kills < maxKills && (done == 0 || progress() < done) {
		k.once(run, progress)
	}
}
