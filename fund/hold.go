package fund

// HoldUnderReview is the status an investor sees for an order leg held by
// fraud rules or AML screening, with no reason: what rule fired is never
// shown. A leg held by any other source (the KYC gate, bank verification)
// shows HoldHeld with the hold's public reason (kyc_on_hold, …).
const (
	HoldUnderReview = "under_review"
	HoldHeld        = "held"
)

// HoldPublicStatus is how a leg with an open hold of source shows to its
// investor, and whether the hold's reason is shown with it.
func HoldPublicStatus(source string) (status string, showReason bool) {
	if source == "fraud" || source == "aml" {
		return HoldUnderReview, false
	}
	return HoldHeld, true
}
