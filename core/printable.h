// Text that came from an archive, a manifest, a package or a daemon is untrusted: printed raw,
// control characters could move the cursor or rewrite the terminal, and ill-formed UTF-8 breaks
// JSON output. printable() is how every such string reaches a terminal or a log.
#pragma once

#include <string>
#include <string_view>

namespace dd {

// Well-formed UTF-8 stays as it is; control characters (C0, DEL, C1) and every byte of an
// ill-formed sequence become \xNN, and a backslash becomes \\ so the escaping is unambiguous.
// Newline and tab are escaped too: a message stays on one line.
std::string printable(std::string_view text);

}  // namespace dd
