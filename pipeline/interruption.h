// Ctrl-C, SIGTERM, SIGHUP and SIGQUIT end a run like any other failure: the signal only sets a flag, the next
// read throws, and destructors remove temporaries on the way out.
#pragma once

namespace dd {

void install_interruption_handlers();
// Throws Errc::io ("interrupted") once one of those signals has arrived.
void throw_if_interrupted();

}  // namespace dd
