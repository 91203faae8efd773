package gatewaysim

import (
	"encoding/json"
	"net/http"
	"strings"
)

// The stand-in's RazorpayX account validation (penny drop):
//
//	POST /v1/fund_accounts/validations   composite: contact, fund account and validation in one call
//
// The banks the stand-in knows are added with AddBank. A validation of a
// known account completes (fund_account.validation.completed) with
// account_status "valid", the bank's registered name and a name-match
// score (NameMatchScore); an unknown account completes as "invalid"; while
// FailValidations is set every validation fails
// (fund_account.validation.failed, e.g. the beneficiary bank is down).
// The webhook is queued like the payments' (Settle, or AutoSettle).

// Bank is an account the stand-in's banks hold.
type Bank struct {
	IFSC, AccountNumber, RegisteredName string
}

// AddBank makes an account known to the stand-in's banks.
func (s *Server) AddBank(b Bank) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.init()
	if s.banks == nil {
		s.banks = map[string]Bank{}
	}
	s.banks[strings.ToUpper(b.IFSC)+":"+b.AccountNumber] = b
}

// FailValidations makes every later validation fail with reason (the
// status_details.reason); "" lifts it.
func (s *Server) FailValidations(reason string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.valFail = reason
}

// NameMatchScore is the stand-in's name match, 0–100: the share of the
// given name's words (case-insensitive, punctuation dropped) found in the
// registered name, in whole percent rounded down. Razorpay does not
// publish its algorithm; this one is only meant to be predictable in
// tests ("Asha Rao" vs "ASHA K RAO" is 100, "Ravi Rao" vs "Asha Rao" 50).
func NameMatchScore(given, registered string) int {
	words := func(s string) []string {
		return strings.FieldsFunc(strings.ToUpper(s), func(r rune) bool { return !(r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') })
	}
	g, reg := words(given), words(registered)
	if len(g) == 0 {
		return 0
	}
	have := map[string]bool{}
	for _, w := range reg {
		have[w] = true
	}
	n := 0
	for _, w := range g {
		if have[w] {
			n++
		}
	}
	return n * 100 / len(g)
}

func (s *Server) validateAccount(w *recorder, r *http.Request) {
	var in struct {
		SourceAccount  string            `json:"source_account_number"`
		ValidationType string            `json:"validation_type"`
		ReferenceID    string            `json:"reference_id"`
		Notes          map[string]string `json:"notes"`
		FundAccount    struct {
			AccountType string `json:"account_type"`
			BankAccount struct {
				Name          string `json:"name"`
				IFSC          string `json:"ifsc"`
				AccountNumber string `json:"account_number"`
			} `json:"bank_account"`
			Contact map[string]any `json:"contact"`
		} `json:"fund_account"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		refuse(w, "The request body is not valid JSON", "")
		return
	}
	ba := in.FundAccount.BankAccount
	switch {
	case in.FundAccount.AccountType != "bank_account":
		refuse(w, "The account type field is invalid.", "fund_account.account_type")
		return
	case ba.AccountNumber == "":
		refuse(w, "The account number field is required.", "fund_account.bank_account.account_number")
		return
	case len(ba.IFSC) != 11:
		refuse(w, "The ifsc must be 11 characters.", "fund_account.bank_account.ifsc")
		return
	case ba.Name == "":
		refuse(w, "The name field is required.", "fund_account.bank_account.name")
		return
	case len(in.ReferenceID) > 40:
		refuse(w, "The reference id may not be greater than 40 characters.", "reference_id")
		return
	}
	now := s.now().Unix()
	fa := map[string]any{"id": s.id("fa"), "entity": "fund_account", "account_type": "bank_account",
		"bank_account": map[string]string{"name": ba.Name, "ifsc": ba.IFSC, "account_number": ba.AccountNumber},
		"active":       true, "created_at": now, "contact": in.FundAccount.Contact}
	if in.Notes == nil {
		in.Notes = map[string]string{}
	}
	e := map[string]any{"id": s.id("fav"), "entity": "fund_account.validation", "status": "created",
		"validation_results": map[string]any{"account_status": nil, "registered_name": nil, "details": nil, "name_match_score": nil},
		"status_details":     map[string]any{"description": "Validation request is created", "source": "internal", "reason": "validation_created"},
		"reference_id":       in.ReferenceID, "notes": in.Notes, "fund_account": fa, "utr": nil, "created_at": now}
	writeJSON(w, http.StatusOK, e)

	done := map[string]any{}
	for k, v := range e {
		done[k] = v
	}
	event := "fund_account.validation.completed"
	bank, known := s.banks[strings.ToUpper(ba.IFSC)+":"+ba.AccountNumber]
	switch {
	case s.valFail != "":
		event = "fund_account.validation.failed"
		done["status"] = "failed"
		done["status_details"] = map[string]any{"description": "The beneficiary bank is not reachable.", "source": "beneficiary_bank", "reason": s.valFail}
	case known:
		done["status"] = "completed"
		done["utr"] = s.id("utr")
		done["validation_results"] = map[string]any{"account_status": "valid", "registered_name": bank.RegisteredName,
			"details": "The beneficiary account is valid.", "name_match_score": NameMatchScore(ba.Name, bank.RegisteredName)}
		done["status_details"] = map[string]any{"description": "Validation request is completed", "source": "beneficiary_bank", "reason": "validation_completed"}
	default:
		done["status"] = "completed"
		done["validation_results"] = map[string]any{"account_status": "invalid", "registered_name": nil,
			"details": "The beneficiary account is invalid.", "name_match_score": 0}
		done["status_details"] = map[string]any{"description": "Validation request is completed", "source": "beneficiary_bank", "reason": "invalid_account"}
	}
	s.queue(event, map[string]any{"fund_account.validation": map[string]any{"entity": done}})
}
