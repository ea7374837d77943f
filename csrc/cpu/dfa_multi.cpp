// The lazy product DFA (dfa_multi.h) and the op's multi-pattern path over token ids.
#include "dfa_multi.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <memory>

namespace twinkle {
namespace cpu {

namespace {

std::string key_of(const int32_t* v, int k) {
  return std::string(reinterpret_cast<const char*>(v), sizeof(int32_t) * k);
}

bool is_sink(const DfaFastPattern& p, int32_t off) {
  for (int32_t c = 0; c < p.n_classes; ++c) {
    if (p.offsets[off + c] != off) return false;
  }
  return true;
}

}  // namespace

// Room for the start state with a class per byte, whatever budget a caller asks for.
constexpr int64_t kMinBudget = int64_t{64} << 10;

ProductDfa::ProductDfa(const std::vector<DfaFastPattern>& pats, int64_t vocab,
                       int64_t budget_bytes, bool token_skip, bool byte_escapes)
    : pats_(pats),
      k_(static_cast<int>(pats.size())),
      vocab_(vocab),
      budget_(std::max(budget_bytes, kMinBudget)),
      token_skip_(token_skip && vocab > 256),
      byte_escapes_(byte_escapes && vocab == 256) {
  cls_.assign(vocab_, -1);
  words_ = vocab_ / 64 + 1;  // bit V exists and is clear: skip_stays clamps ids to V
  pat_set_.resize(k_);
  for (const DfaFastPattern& p : pats_) start_.push_back(p.start_off);
  reset();
  if (vocab_ <= 256) {  // bytes: every class up front, so byte scans never miss a class
    for (int64_t b = 0; b < vocab_; ++b) add_class(b);
    // Escapes read the class of every byte: a token vocabulary of fewer ids has none.
    bytes_ready_ = byte_escapes_ && !spent_;
    if (bytes_ready_) escapes(0);
  }
}

void ProductDfa::reset() {
  spent_ = false;
  trans_.clear();
  st_tuple_.clear();
  st_final_.clear();
  mask_.clear();
  terminal_.clear();
  st_ids_.clear();
  skip_bits_.clear();
  skip_ids_.clear();
  skip_stops_.clear();
  visits_.clear();
  jumps_.clear();
  jumped_.clear();
  intern(start_.data());  // state 0, row offset 0
}

int32_t ProductDfa::add_class(int64_t id) {
  std::vector<int32_t> tuple(k_);
  for (int j = 0; j < k_; ++j) {
    const int32_t c = pats_[j].class_ids[id];
    if (c < 0 || c >= pats_[j].n_classes) return cls_[id] = -2;
    tuple[j] = c;
  }
  const std::string key = key_of(tuple.data(), k_);
  auto it = cls_ids_.find(key);
  if (it == cls_ids_.end()) {
    const int64_t p = static_cast<int64_t>(cls_ids_.size());
    if (p >= cap_) {
      widen(p + 1);
      if (spent_) return -1;
    }
    cls_tuple_.insert(cls_tuple_.end(), tuple.begin(), tuple.end());
    it = cls_ids_.emplace(key, static_cast<int32_t>(p)).first;
  }
  return cls_[id] = it->second;
}

void ProductDfa::widen(int64_t need) {
  const int64_t cap = std::max<int64_t>({need, 2 * cap_, 16});
  const int64_t stride = kMeta + cap;
  const int64_t n = static_cast<int64_t>(mask_.size());
  if (n * stride * 4 > budget_) {
    spent_ = true;
    return;
  }
  std::vector<int32_t> wide(n * stride, -1);
  for (int64_t s = 0; s < n; ++s) {
    const int32_t* src = trans_.data() + s * stride_;
    int32_t* dst = wide.data() + s * stride;
    std::copy(src, src + stride_, dst);  // meta and the known entries
    for (int64_t c = kMeta; c < stride_; ++c) {
      if (src[c] != kUnbuilt) {
        const int64_t next = next_of(src[c]) / stride_;
        dst[c] = static_cast<int32_t>(next * stride) | (src[c] & kFlag);
      }
    }
  }
  trans_.swap(wide);
  cap_ = cap;
  stride_ = stride;
}

int32_t ProductDfa::intern(const int32_t* offs) {
  const std::string key = key_of(offs, k_);
  const auto it = st_ids_.find(key);
  if (it != st_ids_.end()) return static_cast<int32_t>(it->second * stride_);
  const int64_t sid = static_cast<int64_t>(mask_.size());
  if ((sid + 1) * stride_ * 4 > budget_) {
    spent_ = true;
    return -1;
  }
  uint64_t mask = 0;
  bool stuck = true;
  for (int j = 0; j < k_; ++j) {
    if (offs[j] == pats_[j].dead_off) mask |= uint64_t{1} << j;
    stuck = stuck && is_sink(pats_[j], offs[j]);
  }
  st_tuple_.insert(st_tuple_.end(), offs, offs + k_);
  for (int j = 0; j < k_; ++j) st_final_.push_back(offs[j] / pats_[j].n_classes);
  mask_.push_back(mask);
  terminal_.push_back(stuck ? 1 : 0);
  jumps_.push_back(0);
  jumped_.push_back(0);
  st_ids_.emplace(key, static_cast<int32_t>(sid));
  trans_.resize((sid + 1) * stride_, -1);
  int32_t* meta = trans_.data() + sid * stride_;
  meta[0] = static_cast<int32_t>(sid);
  meta[1] = kEscUnknown;
  std::fill(meta + 2, meta + kMeta, 0);
  meta[4] = token_skip_ ? kSkipUndecided : kSkipNone;
  if (bytes_ready_) escapes(static_cast<int32_t>(sid * stride_));
  return static_cast<int32_t>(sid * stride_);
}

// ---- token skip ----------------------------------------------------------------------------

namespace {

// Visits before a state's bitset is built: states a scan passes through once cost nothing.
constexpr int32_t kSkipVisits = 16;
// Bitsets per engine, of pattern states and of product states (19 KB each for Qwen3).
constexpr size_t kMaxSkipSets = 256;
// A stop (a checked step, a restarted skip, and the bitset's cache lines: each skipping
// state has its own) costs tens of skipped ids; a state whose stops come more often than
// every kSkipPerStop ids is stepped instead (with other rows in lockstep). Judged every
// kSkipReview stops. 12 and 64 were both slower than 24 on 4 and 16 search patterns.
constexpr int64_t kSkipPerStop = 24;
constexpr int64_t kSkipReview = 256;

}  // namespace

const uint64_t* ProductDfa::pattern_stay_bits(int j, int32_t pattern_off) {
  auto it = pat_set_[j].find(pattern_off);
  if (it == pat_set_[j].end()) {
    if (pat_bits_.size() >= kMaxSkipSets * static_cast<size_t>(words_)) return nullptr;
    const DfaFastPattern& p = pats_[j];
    const uint32_t c = static_cast<uint32_t>(p.n_classes);
    std::vector<uint8_t> stay(c);
    for (uint32_t x = 0; x < c; ++x) stay[x] = p.offsets[pattern_off + x] == pattern_off;
    const size_t base = pat_bits_.size();
    pat_bits_.resize(base + words_, 0);
    uint64_t* bits = pat_bits_.data() + base;
    for (int64_t i = 0; i < vocab_; ++i) {  // an invalid class has no bit
      const uint32_t k = static_cast<uint32_t>(p.class_ids[i]);
      bits[i >> 6] |= static_cast<uint64_t>(k < c && stay[k]) << (i & 63);
    }
    it = pat_set_[j].emplace(pattern_off, static_cast<int32_t>(base / words_)).first;
  }
  return pat_bits_.data() + static_cast<size_t>(it->second) * words_;
}

int32_t ProductDfa::decide_skip(int32_t off) {
  const int32_t sid = trans_[off];
  if (visits_.size() <= static_cast<size_t>(sid)) visits_.resize(sid + 1, 0);
  if (++visits_[sid] < kSkipVisits) return kSkipUndecided;
  int32_t result = kSkipNone;
  bool ok = skip_stops_.size() < kMaxSkipSets;
  for (int j = 0; j < k_ && ok; ++j) ok = pattern_stay_bits(j, st_tuple_[sid * k_ + j]) != nullptr;
  if (ok) {
    const size_t base = skip_bits_.size();
    skip_bits_.resize(base + words_);
    uint64_t* bits = skip_bits_.data() + base;
    std::memcpy(bits, pattern_stay_bits(0, st_tuple_[sid * k_]), words_ * sizeof(uint64_t));
    for (int j = 1; j < k_; ++j) {
      const uint64_t* other = pattern_stay_bits(j, st_tuple_[sid * k_ + j]);
      for (int64_t w = 0; w < words_; ++w) bits[w] &= other[w];
    }
    int64_t stays = 0;
    for (int64_t w = 0; w < words_; ++w) stays += __builtin_popcountll(bits[w]);
    if (2 * stays >= vocab_) {  // most ids stay: worth a try (note_skip judges the text)
      result = static_cast<int32_t>(skip_stops_.size());
      skip_ids_.push_back(0);
      skip_stops_.push_back(0);
    } else {
      skip_bits_.resize(base);
    }
  }
  trans_[off + 4] = result;
  return result;
}

void ProductDfa::note_skip(int32_t off, int32_t set, int64_t skipped) {
  skip_ids_[set] += skipped;
  if (++skip_stops_[set] % kSkipReview == 0 && skip_ids_[set] < kSkipPerStop * skip_stops_[set]) {
    trans_[off + 4] = kSkipNone;
  }
}

int32_t ProductDfa::step_slow(int32_t off, int32_t pc) {
  const int32_t sid = trans_[off];
  std::vector<int32_t> next(k_);
  for (int j = 0; j < k_; ++j) {
    next[j] = pats_[j].offsets[st_tuple_[sid * k_ + j] + cls_tuple_[pc * k_ + j]];
  }
  const int32_t noff = intern(next.data());
  if (noff < 0) return -1;
  const int32_t nsid = trans_[noff];
  // Byte escapes: a state with few ASCII exits (the scans jump to its next exit) is
  // flagged too, so stepping many-exit states tests one sign per byte.
  const bool news = mask_[nsid] != mask_[sid] || terminal_[nsid] ||
                    (bytes_ready_ && trans_[noff + 1] != -1);
  const int32_t e = noff | (news ? kFlag : 0);
  trans_[sid * stride_ + kMeta + pc] = e;
  return e;
}

void ProductDfa::escapes(int32_t off) {
  const int32_t sid = trans_[off];
  const int64_t p = static_cast<int64_t>(cls_ids_.size());
  std::vector<uint8_t> moves(p, 0);
  for (int64_t c = 0; c < p; ++c) {
    for (int j = 0; j < k_ && !moves[c]; ++j) {
      const int32_t s = st_tuple_[sid * k_ + j];
      moves[c] = pats_[j].offsets[s + cls_tuple_[c * k_ + j]] != s;
    }
  }
  // ASCII exits are counted and kept; the others are a flag and one range of code points,
  // because a scan of str storage jumps to the next unit that is an ASCII exit or a code
  // point in that range.
  int cnt = 0;
  uint32_t packed[2] = {0, 0};
  uint8_t table[16] = {};
  for (int b = 0; b < 0x80; ++b) {
    if (!moves[cls_[b]]) continue;
    if (cnt < kMaxByteEscapes) packed[cnt / 4] |= static_cast<uint32_t>(b) << (8 * (cnt % 4));
    exit_table_add(table, static_cast<uint8_t>(b));
    ++cnt;
  }
  const HighRange high = high_range([&](uint8_t b) { return moves[cls_[b]] != 0; });
  int32_t* meta = trans_.data() + sid * stride_;
  meta[1] = cnt <= kMaxByteEscapes ? cnt : -1;
  meta[2] = static_cast<int32_t>(packed[0]);
  meta[3] = high.any() ? 1 : 0;
  meta[kHighRange] = static_cast<int32_t>(high.lo);
  meta[kHighRange + 1] = static_cast<int32_t>(high.hi);
  meta[5] = static_cast<int32_t>(packed[1]);
  std::memcpy(meta + kExitTable, table, sizeof(table));
}

void ProductDfa::step_instead(int32_t off) {
  const int32_t sid = trans_[off];
  trans_[off + 1] = -1;
  const int64_t n = static_cast<int64_t>(mask_.size());
  const bool news = terminal_[sid] != 0;
  for (int64_t from = 0; from < n; ++from) {
    int32_t* row = trans_.data() + from * stride_ + kMeta;
    const int32_t flag = news || mask_[from] != mask_[sid] ? kFlag : 0;
    for (int64_t c = 0; c < cap_; ++c) {
      if (row[c] != kUnbuilt && next_of(row[c]) == off) row[c] = off | flag;
    }
  }
}

void ProductDfa::finals(int32_t off, int32_t* state) const {
  const int32_t sid = trans_[off];
  std::memcpy(state, st_final_.data() + sid * k_, static_cast<size_t>(k_) * sizeof(int32_t));
}

// ---- the op's path ----------------------------------------------------------------------

namespace {

// Cache per engine: enough for thousands of product states over thousands of classes; a
// row that would pass it resets the engine and is scanned pattern by pattern.
constexpr int64_t kBudgetBytes = int64_t{48} << 20;
// The product pays when its fixed cost, a class map of V ints per engine (~50 us for the
// 151,669-id Qwen3 vocabulary) and the first visits, is below the per-pattern steps it
// saves (~2 ns each): B x L x K steps >= 4096 + V / 2.
inline bool product_pays(int64_t steps, int64_t vocab) { return steps >= 4096 + vocab / 2; }

struct Plan {
  std::vector<Prepared> prep;
  std::vector<std::vector<int>> groups;  // pattern indices per product
  std::vector<int> alone;                // patterns scanned alone (failed cpu::prepare)
};

Plan plan_of(const std::vector<DfaPattern>& pats) {
  Plan plan;
  const int k = static_cast<int>(pats.size());
  plan.prep.resize(k);
  std::vector<int> ok;
  for (int j = 0; j < k; ++j) {
    plan.prep[j] = prepare(pats[j]);
    plan.prep[j].fast.offsets = plan.prep[j].offsets.data();
    (plan.prep[j].ok ? ok : plan.alone).push_back(j);
  }
  const int n_groups = (static_cast<int>(ok.size()) + kMaxProduct - 1) / kMaxProduct;
  for (int g = 0; g < n_groups; ++g) {  // even groups: no product of one pattern
    const int lo = g * static_cast<int>(ok.size()) / n_groups;
    const int hi = (g + 1) * static_cast<int>(ok.size()) / n_groups;
    plan.groups.emplace_back(ok.begin() + lo, ok.begin() + hi);
  }
  return plan;
}

template <typename Id>
void scan_rows(const Plan& plan, const Id* ids, const int64_t* lengths,
               const std::vector<DfaPattern>& pats, int64_t b0, int64_t b1, int64_t max_len,
               int32_t* final_state, int64_t* first_dead) {
  const int64_t k = static_cast<int64_t>(pats.size());
  std::vector<std::unique_ptr<ProductDfa>> engines;
  for (const std::vector<int>& g : plan.groups) {
    std::vector<DfaFastPattern> fast;
    for (int j : g) fast.push_back(plan.prep[j].fast);
    engines.push_back(std::make_unique<ProductDfa>(fast, pats[0].vocab, kBudgetBytes));
  }
  int32_t st[kMaxProduct];
  int64_t fd[kMaxProduct];
  for (int64_t b = b0; b < b1; ++b) {
    const Id* row = ids + b * max_len;
    const int64_t n = dfa_clamp_length(lengths[b], max_len);
    const auto alone = [&](int j) {
      const DfaResult r = dfa_scan_one(pats[j], row, n);
      final_state[b * k + j] = r.state;
      first_dead[b * k + j] = r.first_dead;
    };
    for (size_t g = 0; g < engines.size(); ++g) {
      const std::vector<int>& idx = plan.groups[g];
      if (engines[g]->scan_ids(row, n, st, fd)) {
        for (size_t i = 0; i < idx.size(); ++i) {
          final_state[b * k + idx[i]] = st[i];
          first_dead[b * k + idx[i]] = fd[i];
        }
        continue;
      }
      if (engines[g]->spent()) engines[g]->reset();
      for (int j : idx) alone(j);  // a bad id or class: each pattern reports its own
    }
    for (int j : plan.alone) alone(j);
  }
}

}  // namespace

template <typename Id>
bool scan_multi(const Id* ids, const int64_t* lengths, const std::vector<DfaPattern>& pats,
                int64_t batch, int64_t max_len, int32_t* final_state, int64_t* first_dead) {
  int64_t total = 0;
  for (int64_t b = 0; b < batch; ++b) total += dfa_clamp_length(lengths[b], max_len);
  if (pats.size() < 2 || !product_pays(total * static_cast<int64_t>(pats.size()), pats[0].vocab)) {
    return false;
  }
  const Plan plan = plan_of(pats);
  for (const std::vector<int>& g : plan.groups) {
    if (g.size() < 2) return false;
  }
  // Each task builds its own engines (a class map of V ints each): hand out >= 128k tokens.
  const int64_t grain = std::max<int64_t>(1, (int64_t{1} << 17) / std::max<int64_t>(1, max_len));
  at::parallel_for(0, batch, grain, [&](int64_t b0, int64_t b1) {
    scan_rows(plan, ids, lengths, pats, b0, b1, max_len, final_state, first_dead);
  });
  return true;
}

template bool scan_multi<int32_t>(const int32_t*, const int64_t*, const std::vector<DfaPattern>&,
                                  int64_t, int64_t, int32_t*, int64_t*);
template bool scan_multi<int64_t>(const int64_t*, const int64_t*, const std::vector<DfaPattern>&,
                                  int64_t, int64_t, int32_t*, int64_t*);

}  // namespace cpu
}  // namespace twinkle
