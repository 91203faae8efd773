package pool

// SetCrash makes investing stop at a stage ("debited": before placing,
// "paid": placed and paid, not finished; "sweep": inside a leg's sweep
// transaction, before its entry) when f returns an error.
func (s *Service) SetCrash(f func(stage, poolID string) error) { s.crash = f }
