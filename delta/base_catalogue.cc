#include "delta/base_catalogue.h"

#include <algorithm>

#include "core/error.h"

namespace dd {
namespace {

Digest hash_range(const DeltaLayerFile& f, std::uint64_t offset, std::uint64_t length, const std::string& what) {
  Hasher h;
  std::vector<char> buffer(std::min<std::uint64_t>(length, kBlockSize));
  while (length > 0) {
    const std::uint64_t n = std::min<std::uint64_t>(length, buffer.size());
    f.read(offset, n, buffer.data(), what);
    h.update(buffer.data(), n);
    offset += n;
    length -= n;
  }
  return h.finish();
}

}  // namespace

BaseCatalogue::BaseCatalogue(const std::vector<DeltaLayerFile>& bases) : bases_(bases) {
  for (std::uint32_t b = 0; b < bases_.size(); ++b) {
    const auto& members = bases_[b].index->members;
    for (std::uint32_t m = 0; m < members.size(); ++m) {
      const LayerMember& lm = members[m];
      if (!lm.regular || lm.size == 0) continue;
      by_size_[lm.size].push_back(FileRef{b, m});
      by_path_[lm.path] = FileRef{b, m};
      by_name_[lm.basename()].push_back(FileRef{b, m});
    }
  }
}


const Digest& BaseCatalogue::content_hash(FileRef r) {
  auto key = std::make_pair(r.base, r.member);
  auto it = hashes_.find(key);
  if (it == hashes_.end()) {
    const LayerMember& m = member(r);
    it = hashes_.emplace(key, hash_range(bases_[r.base], m.data_offset, m.size, "base layer")).first;
  }
  return it->second;
}

std::size_t BaseCatalogue::most_similar_base(const DeltaLayerFile& layer) const {
  std::vector<std::uint64_t> shared(bases_.size(), 0);
  for (const LayerMember& m : layer.index->members) {
    if (!m.regular) continue;
    if (auto it = by_path_.find(m.path); it != by_path_.end()) shared[it->second.base] += m.size + 512;
  }
  return static_cast<std::size_t>(std::max_element(shared.begin(), shared.end()) - shared.begin());
}


std::vector<FileMatch> BaseCatalogue::match(const DeltaLayerFile& layer, TarDeltaStats& stats, const std::string& what) {
  const auto& members = layer.index->members;
  std::vector<FileMatch> match(members.size());
  for (std::size_t i = 0; i < members.size(); ++i) {
    const LayerMember& m = members[i];
    if (!m.regular || m.size == 0) continue;
    std::optional<Digest> own;
    auto same_content = [&](FileRef r) {
      if (!own) own = hash_range(layer, m.data_offset, m.size, what);
      return content_hash(r) == *own;
    };
    auto path_it = by_path_.find(m.path);
    if (path_it != by_path_.end()) {
      const LayerMember& old = bases_[path_it->second.base].index->members[path_it->second.member];
      if (old.size == m.size && same_content(path_it->second)) {
        match[i] = {path_it->second, true};
        stats.exact_bytes += m.size;
        continue;
      }
    }
    if (auto it = by_size_.find(m.size); it != by_size_.end()) {
      // Files of one size are many (empty-ish configs, licences); a few candidates suffice.
      std::size_t tried = 0;
      for (const auto& r : it->second) {
        if (++tried > 16) break;
        if (same_content(r)) {
          match[i] = {r, true};
          break;
        }
      }
      if (match[i].ref) {
        stats.exact_bytes += m.size;
        continue;
      }
    }
    if (path_it != by_path_.end()) {
      match[i] = {path_it->second, false};
      stats.path_bytes += m.size;
      continue;
    }
    if (auto it = by_name_.find(m.basename()); it != by_name_.end()) {
      // The same name elsewhere (a moved file, a new version directory): the closest in size,
      // and only when sizes are comparable, or the reference costs more than it gives.
      std::optional<FileRef> best;
      std::uint64_t best_gap = ~0ull;
      for (const auto& r : it->second) {
        const std::uint64_t old_size = bases_[r.base].index->members[r.member].size;
        if (old_size > 2 * m.size || m.size > 2 * old_size) continue;
        const std::uint64_t gap = old_size > m.size ? old_size - m.size : m.size - old_size;
        if (gap < best_gap) best_gap = gap, best = r;
      }
      if (best) {
        match[i] = {best, false};
        stats.name_bytes += m.size;
        continue;
      }
    }
    stats.unmatched_bytes += m.size;
  }
  return match;
}

}  // namespace dd
