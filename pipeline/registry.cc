#include "pipeline/registry.h"

#include <algorithm>

#include "core/error.h"

namespace dd {

StageSpec parse_stage_spec(std::string_view text) {
  StageSpec spec;
  const auto colon = text.find(':');
  spec.kind = std::string(text.substr(0, colon));
  if (colon != std::string_view::npos) spec.argument = std::string(text.substr(colon + 1));
  if (spec.kind.empty()) fail(Errc::usage, "'{}' does not start with a stage name (e.g. oci:DIR)", text);
  return spec;
}

void check_options(const StageSpec& spec, std::initializer_list<std::string_view> known) {
  for (const auto& [key, value] : spec.options)
    if (std::find(known.begin(), known.end(), key) == known.end())
      fail(Errc::usage, "{} does not take the option --{}", spec.kind, key);
}

std::pair<std::string, std::string> split_path_and_ref(const std::string& argument) {
  const auto colon = argument.find(':');
  if (colon == std::string::npos) return {argument, ""};
  return {argument.substr(0, colon), argument.substr(colon + 1)};
}

void Registry::add_input(std::string name, std::string usage, std::string summary, InputFactory factory) {
  entries_.push_back({name, Role::input, std::move(usage), std::move(summary)});
  inputs_[std::move(name)] = std::move(factory);
}
void Registry::add_filter(std::string name, std::string usage, std::string summary, FilterFactory factory) {
  entries_.push_back({name, Role::filter, std::move(usage), std::move(summary)});
  filters_[std::move(name)] = std::move(factory);
}
void Registry::add_output(std::string name, std::string usage, std::string summary, OutputFactory factory) {
  entries_.push_back({name, Role::output, std::move(usage), std::move(summary)});
  outputs_[std::move(name)] = std::move(factory);
}

bool Registry::has(Role role, std::string_view name) const {
  switch (role) {
    case Role::input: return inputs_.find(name) != inputs_.end();
    case Role::filter: return filters_.find(name) != filters_.end();
    case Role::output: return outputs_.find(name) != outputs_.end();
  }
  return false;
}

std::vector<Registry::Entry> Registry::entries() const { return entries_; }

void Registry::unknown(Role role, std::string_view name) const {
  const char* what = role == Role::input ? "source" : role == Role::filter ? "filter" : "destination";
  std::vector<std::string> names;
  for (const auto& e : entries_)
    if (e.role == role) names.push_back(e.name);
  std::string hint = did_you_mean(name, names);
  std::string known;
  for (const auto& n : names) known += (known.empty() ? "" : ", ") + n;
  if (!hint.empty()) fail(Errc::usage, "unknown {} type '{}': did you mean '{}'?", what, name, hint);
  fail(Errc::usage, "unknown {} type '{}' (known: {})", what, name, known);
}

std::unique_ptr<InputStore> Registry::make_input(const StageSpec& spec, const RunContext& ctx) const {
  auto it = inputs_.find(spec.kind);
  if (it == inputs_.end()) unknown(Role::input, spec.kind);
  return it->second(spec, ctx);
}

std::unique_ptr<Filter> Registry::make_filter(const StageSpec& spec, Stage& next, const RunContext& ctx) const {
  auto it = filters_.find(spec.kind);
  if (it == filters_.end()) unknown(Role::filter, spec.kind);
  return it->second(spec, next, ctx);
}

std::unique_ptr<OutputStore> Registry::make_output(const StageSpec& spec, const RunContext& ctx) const {
  auto it = outputs_.find(spec.kind);
  if (it == outputs_.end()) unknown(Role::output, spec.kind);
  return it->second(spec, ctx);
}

namespace {

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

}  // namespace

std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates) {
  std::string best;
  std::size_t best_distance = std::max<std::size_t>(2, word.size() / 3) + 1;
  for (const auto& c : candidates) {
    const std::size_t d = edit_distance(word, c);
    if (d < best_distance) {
      best_distance = d;
      best = c;
    }
  }
  return best;
}

}  // namespace dd
