// Stages are found by name. A spec "kind:argument" (e.g. "oci:out.d:v2", "platform:linux/arm64")
// names a registered factory; options come from command-line flags and are validated by the
// factory, which rejects keys it does not know.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "pipeline/run_context.h"
#include "pipeline/stage.h"

namespace dd {

struct StageSpec {
  std::string kind;      // registered name: "docker-archive", "oci", "platform", ...
  std::string argument;  // everything after the first ':' (path, path:ref, platform, ...)
  std::map<std::string, std::string> options;
  std::string text() const { return argument.empty() ? kind : kind + ":" + argument; }
};

// Splits at the first ':'. "oci:dir:tag" -> {"oci", "dir:tag"}.
StageSpec parse_stage_spec(std::string_view text);
// Errc::usage naming the first option of `spec` that is not in `known`.
void check_options(const StageSpec& spec, std::initializer_list<std::string_view> known);
// Splits "PATH[:REF]" at the first ':'.
std::pair<std::string, std::string> split_path_and_ref(const std::string& argument);

using InputFactory = std::function<std::unique_ptr<InputStore>(const StageSpec&, const RunContext&)>;
using FilterFactory = std::function<std::unique_ptr<Filter>(const StageSpec&, Stage& next, const RunContext&)>;
using OutputFactory = std::function<std::unique_ptr<OutputStore>(const StageSpec&, const RunContext&)>;

class Registry {
 public:
  enum class Role { input, filter, output };
  struct Entry {
    std::string name;
    Role role;
    std::string usage;    // "oci:DIR[:REF]"
    std::string summary;  // one line
  };

  void add_input(std::string name, std::string usage, std::string summary, InputFactory factory);
  void add_filter(std::string name, std::string usage, std::string summary, FilterFactory factory);
  void add_output(std::string name, std::string usage, std::string summary, OutputFactory factory);

  bool has(Role role, std::string_view name) const;
  std::unique_ptr<InputStore> make_input(const StageSpec& spec, const RunContext& ctx) const;
  std::unique_ptr<Filter> make_filter(const StageSpec& spec, Stage& next, const RunContext& ctx) const;
  std::unique_ptr<OutputStore> make_output(const StageSpec& spec, const RunContext& ctx) const;
  std::vector<Entry> entries() const;

 private:
  [[noreturn]] void unknown(Role role, std::string_view name) const;
  std::vector<Entry> entries_;
  std::map<std::string, InputFactory, std::less<>> inputs_;
  std::map<std::string, FilterFactory, std::less<>> filters_;
  std::map<std::string, OutputFactory, std::less<>> outputs_;
};

// The closest of `candidates` to `word` when it is a plausible typo; empty otherwise.
std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates);

}  // namespace dd
