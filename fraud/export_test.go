package fraud

// StrictJSON is the decoder of the payloads, for the tests of package fraud_test.
var StrictJSON = strictJSON
