package wallet

// SetCrash stops runs at a stage, as a crash would (tests).
func (a *AutoInvest) SetCrash(f func(stage, paymentID string) error) { a.crash = f }

// SetCrash stops rebalance runs at a stage, as a crash would (tests).
func (r *Rebalancer) SetCrash(f func(stage, runID string) error) { r.crash = f }

// SetCrash stops exits after a step ("started", "billed"), as a crash
// would (tests).
func (x *Exits) SetCrash(f func(step string) error) { x.crash = f }
