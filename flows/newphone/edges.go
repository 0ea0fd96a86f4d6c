package newphone

// Catalog ids of the issue 14 "rough edges" texts (locales/en.yaml,
// locales/ms.yaml), kept apart from messages.go.
const (
	// msgClockDrift: the new app's code is right for a time step outside
	// the accepted window (portal.ErrClockDrift): the new phone's clock is
	// off. Data: Count, the tries left.
	msgClockDrift = "newphone.clock_drift"
	// msgNoRecoveryCodesAlone is msgNoRecoveryCodes where no "Talk to a
	// person" button is offered (no support configured): it names no
	// button that is not there.
	msgNoRecoveryCodesAlone = "newphone.no_recovery_codes_alone"
)
