package bot

import "strings"

// Commands returns the command words (lower case, without "/") this
// engine acts on, in the order adapters should offer them: the start
// commands of Options.StartCommands (default "start"), then each flow's
// Descriptor.Commands in Options.Flows order, each once, then "cancel",
// "help" and CommandLanguage ("language"). Adapters read it instead of
// naming commands themselves, so that a flow registered in cmd/ with its
// own start command is understood on every platform (CommandFlow says
// which flow a command starts). Telegram
// registers these with setMyCommands (core.telegram.org/bots/api#setmycommands).
// The slice is a copy; changing it changes nothing.
func (e *Engine) Commands() []string {
	return append([]string(nil), e.commands...)
}

// IsStartCommand reports whether name (without "/", in any case: /NEWPHONE
// is /newphone) is one of the commands that start a flow, as opposed to
// "cancel", "help", "language" or a word the engine does not know.
func (e *Engine) IsStartCommand(name string) bool {
	return e.startCmds[strings.ToLower(name)]
}
