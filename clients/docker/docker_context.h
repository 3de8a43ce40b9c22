// The docker CLI's contexts (`docker context use NAME`): which daemon the user's docker talks to
// when neither --host nor $DOCKER_HOST says. The context is $DOCKER_CONTEXT, else the config's
// "currentContext" ($DOCKER_CONFIG/config.json, default ~/.docker/config.json); its endpoint is
// in contexts/meta/<sha256 of its name>/meta.json beside that config.
#pragma once

#include <optional>
#include <string>

namespace dd {

// The docker endpoint ("unix:///...", "tcp://...") of the current context; nothing for the
// "default" context or when none is set. A context named but missing is Errc::not_found.
std::optional<std::string> docker_context_host();

}  // namespace dd
