// Ctrl-C and SIGTERM end a run like any other failure: the signal only sets a flag, the next
// read throws, and destructors remove temporaries on the way out.
#pragma once

namespace dd {

void install_interruption_handlers();
// Throws Errc::io ("interrupted") once SIGINT or SIGTERM has arrived.
void throw_if_interrupted();

}  // namespace dd
