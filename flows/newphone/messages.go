package newphone

// Catalog ids of the flow's texts (locales/en.yaml, locales/ms.yaml).
const (
	msgWelcome            = "newphone.welcome"
	msgAskEmail           = "newphone.ask_email"
	msgBadEmail           = "newphone.bad_email"
	msgProposedEmail      = "newphone.proposed_email"
	msgAskPassword        = "newphone.ask_password"
	msgHintPassword       = "newphone.hint_password"
	msgBadPassword        = "newphone.bad_password"
	msgLocked             = "newphone.locked"
	msgLockedSupport      = "newphone.locked_support"
	msgNotTOTP            = "newphone.not_totp"
	msgChooseProof        = "newphone.choose_proof"
	msgAskCurrentCode     = "newphone.ask_current_code"
	msgBadCurrentCode     = "newphone.bad_current_code"
	msgCodeFormat         = "newphone.code_format"
	msgCodeReplayed       = "newphone.code_replayed"
	msgAskRecoveryCode    = "newphone.ask_recovery_code"
	msgBadRecoveryCode    = "newphone.bad_recovery_code"
	msgRecoveryFormat     = "newphone.recovery_format"
	msgNoRecoveryCodes    = "newphone.no_recovery_codes"
	msgRecoveryCodes      = "newphone.recovery_codes"
	msgQRCaption          = "newphone.qr_caption"
	msgManualKey          = "newphone.manual_key"
	msgAskNewCode         = "newphone.ask_new_code"
	msgBadNewCode         = "newphone.bad_new_code"
	msgEnrollmentVoid     = "newphone.enrollment_void"
	msgReverify           = "newphone.reverify"
	msgDone               = "newphone.done"
	msgCancelled          = "newphone.cancelled"
	msgCancelledUnchanged = "newphone.cancelled_unchanged"
	// msgCancelledCodesReplaced: a cancel after a recovery code was spent
	// and the set replaced.
	msgCancelledCodesReplaced = "newphone.cancelled_codes_replaced"
	// msgCodesShownOnce: the recovery-codes step shown again (resume,
	// other input): the codes cannot be shown a second time.
	msgCodesShownOnce     = "newphone.codes_shown_once"
	msgExpired            = "newphone.expired"
	msgBlocked            = "newphone.blocked"
	msgUseButtons         = "newphone.use_buttons"
	msgTypeText           = "newphone.type_text"
	msgHelp               = "newphone.help"
	msgRestarting         = "newphone.restarting"
	msgHandoffConfirm     = "newphone.handoff_confirm"
	msgHandoffWelcome     = "newphone.handoff_welcome"
	msgHandoffInvalid     = "newphone.handoff_invalid"
	msgButtonCancel       = "newphone.button.cancel"
	msgButtonHaveOld      = "newphone.button.have_old"
	msgButtonLostOld      = "newphone.button.lost_old"
	msgButtonVerify       = "newphone.button.verify"
	msgButtonSaved        = "newphone.button.saved"
	msgButtonOtherEmail   = "newphone.button.other_email"
	msgButtonHandoffStart = "newphone.button.handoff_start"
	msgButtonShowQR       = "newphone.button.show_qr"
)

// Button actions.
const (
	actCancel       = "cancel"
	actHaveOld      = "have_old"
	actLostOld      = "lost_old"
	actVerify       = "verify"
	actSaved        = "saved"
	actOtherEmail   = "other_email"
	actHandoffStart = "handoff_start"
	actShowQR       = "show_qr"
)
