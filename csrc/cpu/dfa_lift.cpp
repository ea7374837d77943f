// Token classes of a byte DFA over a vocabulary (twinkle.dfa.tokens.token_classes).
//
// numpy runs every token from every state (S x ~1M bytes of gathers for a 150k vocabulary,
// 4-18 s for 300-1000 states on a 2-core host). Tokens share prefixes, so here the token
// strings (over the DFA's byte classes) are sorted once and walked in order with a stack
// of rows, one end state per start: a string only runs the codes past its common prefix
// with the previous one (the trie's nodes, N), each code moving all R starts at once.
// Work: N x R gathers (~1 ns each), and one hash of each distinct string's row.
//
// Tokens are grouped exactly: a string's row is hashed, then compared whole with the rows
// of the classes under that hash, so two tokens share a class iff they end in the same
// state from every start. Classes are numbered as found here; the caller renumbers them
// (by first token id) so both backends agree.
//
// Invariants: trans (S, NC) int32 holds states in [0, S); codes hold classes in [0, NC);
// offsets (V + 1,) int64 is non-decreasing from 0; init (R,) int32 holds states in [0, S).
#include <Python.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <numeric>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "dfa_lift.h"

namespace twinkle {
namespace {

struct View {
  Py_buffer view{};
  bool held = false;
  ~View() {
    if (held) PyBuffer_Release(&view);
  }
};

bool get_view(PyObject* obj, View& b, Py_ssize_t itemsize, bool writable, const char* name) {
  const int flags = PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | (writable ? PyBUF_WRITABLE : 0);
  if (PyObject_GetBuffer(obj, &b.view, flags) != 0) return false;
  b.held = true;
  if (b.view.itemsize != itemsize) {
    PyErr_Format(PyExc_ValueError, "lift_tokens: %s must be C-contiguous with %zd-byte items, got %zd",
                 name, itemsize, b.view.itemsize);
    return false;
  }
  return true;
}

// The distinct code strings in sorted order, with each one's common prefix with the one
// before (the trie in preorder: string u adds len[u] - lcp[u] nodes).
struct Str {
  int64_t start;  // offset of its codes
  int32_t len, lcp;
};
struct SortedStrings {
  std::vector<Str> str;       // per distinct string, in sorted order
  std::vector<int32_t> uid;   // per token: its distinct string
  int64_t nodes = 0;
};

template <typename Item>
void radix_sort(std::vector<Item>& items) {
  // LSD, 16 bits a pass over the 63-bit keys: four linear passes (~3 ms for 150k).
  std::vector<Item> tmp(items.size());
  std::vector<int64_t> count(1 << 16);
  for (int shift = 0; shift < 64; shift += 16) {
    std::fill(count.begin(), count.end(), 0);
    for (const Item& x : items) ++count[(x.key >> shift) & 0xFFFF];
    int64_t sum = 0;
    for (int64_t& c : count) {
      const int64_t n = c;
      c = sum;
      sum += n;
    }
    for (const Item& x : items) tmp[count[(x.key >> shift) & 0xFFFF]++] = x;
    items.swap(tmp);
  }
}

SortedStrings sort_strings(const uint8_t* codes, const int64_t* off, int64_t v) {
  // Sort by the first 7 codes packed into one integer (9 bits each, code + 1, 0 past the
  // end: lexicographic, shorter first), then by the rest: comparing whole strings took
  // ~50 ms for a 150k vocabulary.
  struct Item {
    uint64_t key;
    int32_t id;
  };
  constexpr int64_t kPacked = 7;
  std::vector<Item> items(v);
  for (int64_t t = 0; t < v; ++t) {
    const int64_t l = off[t + 1] - off[t];
    uint64_t key = 0;
    for (int64_t d = 0; d < kPacked; ++d) key = (key << 9) | (d < l ? codes[off[t] + d] + 1u : 0u);
    items[t] = Item{key, static_cast<int32_t>(t)};
  }
  // Tails compared only within a run of equal keys, after a radix sort on the keys.
  const auto tail_less = [&](const Item& x, const Item& y) {
    const int64_t la = std::max<int64_t>(off[x.id + 1] - off[x.id] - kPacked, 0);
    const int64_t lb = std::max<int64_t>(off[y.id + 1] - off[y.id] - kPacked, 0);
    const int64_t m = std::min(la, lb);
    const int c = m == 0 ? 0 : std::memcmp(codes + off[x.id] + kPacked, codes + off[y.id] + kPacked,
                                           static_cast<size_t>(m));
    return c != 0 ? c < 0 : la < lb;
  };
  radix_sort(items);
  for (int64_t i = 0; i < v;) {
    int64_t j = i + 1;
    while (j < v && items[j].key == items[i].key) ++j;
    if (j - i > 1) std::sort(items.begin() + i, items.begin() + j, tail_less);
    i = j;
  }
  std::vector<int32_t> order(v);
  for (int64_t i = 0; i < v; ++i) order[i] = items[i].id;
  SortedStrings out;
  out.uid.assign(v, 0);
  for (int64_t i = 0; i < v; ++i) {
    const int32_t t = order[i];
    const int64_t l = off[t + 1] - off[t];
    int64_t common = 0;
    if (!out.str.empty()) {
      const int64_t pl = out.str.back().len;
      const uint8_t *p = codes + out.str.back().start, *q = codes + off[t];
      const int64_t m = std::min(pl, l);
      while (common < m && p[common] == q[common]) ++common;
      if (common == l && pl == l) {  // the same string again
        out.uid[t] = static_cast<int32_t>(out.str.size() - 1);
        continue;
      }
    }
    out.uid[t] = static_cast<int32_t>(out.str.size());
    out.str.push_back(Str{off[t], static_cast<int32_t>(l), static_cast<int32_t>(common)});
    out.nodes += l - common;
  }
  return out;
}

// One hash of a row of end states (R int32), in four independent lanes: a single chain of
// multiplies is latency-bound and cost as much as the gathers for rows of ~10k states.
uint64_t hash_row(const int32_t* row, int64_t r) {
  constexpr uint64_t kMul[4] = {0x9E3779B97F4A7C15ull, 0xBF58476D1CE4E5B9ull, 0x94D049BB133111EBull,
                                0xD6E8FEB86659FD93ull};
  uint64_t h[4] = {static_cast<uint64_t>(r), 1, 2, 3};
  int64_t i = 0;
  for (; i + 8 <= r; i += 8) {
    for (int k = 0; k < 4; ++k) {
      uint64_t w;
      std::memcpy(&w, row + i + 2 * k, 8);
      h[k] = (h[k] ^ w) * kMul[k];
      h[k] ^= h[k] >> 29;
    }
  }
  for (; i < r; ++i) h[0] = ((h[0] ^ static_cast<uint32_t>(row[i])) * kMul[1]) ^ (h[0] >> 31);
  return (h[0] * kMul[2]) ^ (h[1] * kMul[3]) ^ (h[2] * kMul[0]) ^ (h[3] * kMul[1]);
}

// The classes found so far: each one's row of end states, looked up by hash and then
// compared whole, so two strings share a class iff their rows are equal.
class RowClasses {
 public:
  explicit RowClasses(int64_t r) : r_(r) {}

  int32_t find_or_add(const int32_t* row) {
    const uint64_t h = hash_row(row, r_);
    auto range = by_hash_.equal_range(h);
    for (auto it = range.first; it != range.second; ++it) {
      if (std::memcmp(rows_.data() + static_cast<size_t>(it->second) * r_, row, sizeof(int32_t) * r_) == 0) {
        return it->second;
      }
    }
    const auto c = static_cast<int32_t>(count_++);
    rows_.insert(rows_.end(), row, row + r_);
    by_hash_.emplace(h, c);
    return c;
  }

  int64_t count() const { return count_; }
  const std::vector<int32_t>& rows() const { return rows_; }

 private:
  int64_t r_, count_ = 0;
  std::vector<int32_t> rows_;  // (C, R)
  std::unordered_multimap<uint64_t, int32_t> by_hash_;
};

// The class of every distinct string, walking the sorted strings with a stack of rows: the
// row at depth d + 1 is the row at depth d moved by code d, for all R starts at once (a
// gather from one column of the transposed table), and only past the common prefix with
// the previous string.
std::vector<int32_t> lift(const SortedStrings& ss, const uint8_t* codes, const int32_t* trans, int64_t s_count,
                          int64_t nc, const int32_t* init, int64_t r, RowClasses& classes) {
  std::vector<int32_t> trans_t(static_cast<size_t>(nc * s_count));
  for (int64_t s = 0; s < s_count; ++s) {
    for (int64_t c = 0; c < nc; ++c) trans_t[c * s_count + s] = trans[s * nc + c];
  }
  int64_t lmax = 0;
  for (const Str& x : ss.str) lmax = std::max<int64_t>(lmax, x.len);
  std::vector<int32_t> stack(static_cast<size_t>((lmax + 1) * r));
  std::copy(init, init + r, stack.begin());
  std::vector<int32_t> cls(ss.str.size());
  for (size_t u = 0; u < ss.str.size(); ++u) {
    const Str& x = ss.str[u];
    const uint8_t* c = codes + x.start;
    for (int64_t d = x.lcp; d < x.len; ++d) {
      const int32_t* col = trans_t.data() + c[d] * s_count;
      const int32_t* src = stack.data() + d * r;
      int32_t* dst = stack.data() + (d + 1) * r;
      for (int64_t i = 0; i < r; ++i) dst[i] = col[src[i]];
    }
    cls[u] = classes.find_or_add(stack.data() + x.len * r);
  }
  return cls;
}

// lift() over the starts split into `parts` slices, one thread each (the rows of different
// starts are independent), then the slices' partitions intersected: a string's class is
// its tuple of slice classes. Fills cls (U,) and rows (C, R).
void lift_split(const SortedStrings& ss, const uint8_t* codes, const int32_t* trans, int64_t s_count,
                int64_t nc, const int32_t* init, int64_t r, int64_t parts, std::vector<int32_t>& cls,
                std::vector<int32_t>& rows) {
  std::vector<int64_t> bound(parts + 1);
  for (int64_t k = 0; k <= parts; ++k) bound[k] = r * k / parts;
  std::vector<std::vector<int32_t>> part_cls(parts);
  std::vector<RowClasses> part_rows;
  for (int64_t k = 0; k < parts; ++k) part_rows.emplace_back(bound[k + 1] - bound[k]);
  std::vector<std::thread> threads;
  for (int64_t k = 1; k < parts; ++k) {
    threads.emplace_back([&, k] {
      part_cls[k] = lift(ss, codes, trans, s_count, nc, init + bound[k], bound[k + 1] - bound[k], part_rows[k]);
    });
  }
  part_cls[0] = lift(ss, codes, trans, s_count, nc, init, bound[1], part_rows[0]);
  for (auto& t : threads) t.join();
  if (parts == 1) {
    cls = std::move(part_cls[0]);
    rows = part_rows[0].rows();
    return;
  }
  const size_t u_count = ss.str.size();
  cls.assign(u_count, 0);
  std::vector<int64_t> first;  // per class: one member
  std::unordered_map<std::string, int32_t> ids;
  std::string key(sizeof(int32_t) * parts, '\0');
  for (size_t u = 0; u < u_count; ++u) {
    for (int64_t k = 0; k < parts; ++k) std::memcpy(&key[sizeof(int32_t) * k], &part_cls[k][u], sizeof(int32_t));
    const auto it = ids.emplace(key, static_cast<int32_t>(first.size())).first;
    if (it->second == static_cast<int32_t>(first.size())) first.push_back(static_cast<int64_t>(u));
    cls[u] = it->second;
  }
  rows.assign(first.size() * r, 0);
  for (size_t c = 0; c < first.size(); ++c) {
    for (int64_t k = 0; k < parts; ++k) {
      const int64_t w = bound[k + 1] - bound[k];
      const int32_t* src = part_rows[k].rows().data() + static_cast<size_t>(part_cls[k][first[c]]) * w;
      std::copy(src, src + w, rows.begin() + c * r + bound[k]);
    }
  }
}

// lift_tokens(trans, codes, offsets, init, class_out, max_work)
//   -> (nodes, C, rows: bytes of (C, R) int32, or None when refused)
PyObject* lift_tokens(PyObject*, PyObject* args) {
  PyObject *trans_obj, *codes_obj, *off_obj, *init_obj, *out_obj;
  long long max_work;
  if (!PyArg_ParseTuple(args, "OOOOOL:lift_tokens", &trans_obj, &codes_obj, &off_obj, &init_obj, &out_obj,
                        &max_work)) {
    return nullptr;
  }
  View trans, codes, off, init, out;
  if (!get_view(trans_obj, trans, 4, false, "trans (S, NC) int32") ||
      !get_view(codes_obj, codes, 1, false, "codes uint8") ||
      !get_view(off_obj, off, 8, false, "offsets (V + 1,) int64") ||
      !get_view(init_obj, init, 4, false, "init (R,) int32") ||
      !get_view(out_obj, out, 4, true, "class_out (V,) int32")) {
    return nullptr;
  }
  if (trans.view.ndim != 2) {
    PyErr_SetString(PyExc_ValueError, "lift_tokens: trans must be 2-D (S, NC)");
    return nullptr;
  }
  const int64_t s_count = trans.view.shape[0], nc = trans.view.shape[1];
  const int64_t v = off.view.len / 8 - 1, r = init.view.len / 4;
  if (v < 0 || out.view.len / 4 != v) {
    PyErr_SetString(PyExc_ValueError, "lift_tokens: offsets and class_out sizes disagree");
    return nullptr;
  }
  const auto* cd = static_cast<const uint8_t*>(codes.view.buf);
  const auto* of = static_cast<const int64_t*>(off.view.buf);
  auto* cls_out = static_cast<int32_t*>(out.view.buf);
  SortedStrings ss;
  std::vector<int32_t> cls, rows;
  bool refused = false;
  Py_BEGIN_ALLOW_THREADS
  ss = sort_strings(cd, of, v);
  const double work = static_cast<double>(ss.nodes) * static_cast<double>(r);
  refused = work > static_cast<double>(max_work);
  if (!refused) {
    // Threads pay off past ~20 ms of work (1e7 steps of ~2 ns), with a few hundred starts each.
    const int64_t hw = std::max<int64_t>(1, std::thread::hardware_concurrency());
    const int64_t parts = std::max<int64_t>(1, std::min({hw, int64_t{8}, r / 256,
                                                         static_cast<int64_t>(work / 1e7) + 1}));
    lift_split(ss, cd, static_cast<const int32_t*>(trans.view.buf), s_count, nc,
               static_cast<const int32_t*>(init.view.buf), r, parts, cls, rows);
    for (int64_t t = 0; t < v; ++t) cls_out[t] = cls[ss.uid[t]];
  }
  Py_END_ALLOW_THREADS
  if (refused) {
    return Py_BuildValue("(LiO)", static_cast<long long>(ss.nodes), 0, Py_None);
  }
  // Classes are numbered 0.. in order of first member.
  const long long n_cls = cls.empty() ? 0 : *std::max_element(cls.begin(), cls.end()) + 1;
  PyObject* rows_obj = PyBytes_FromStringAndSize(reinterpret_cast<const char*>(rows.data()),
                                                 static_cast<Py_ssize_t>(rows.size() * sizeof(int32_t)));
  if (rows_obj == nullptr) return nullptr;
  return Py_BuildValue("(LLN)", static_cast<long long>(ss.nodes), n_cls, rows_obj);
}

PyMethodDef kMethods[] = {
    {"lift_tokens", lift_tokens, METH_VARARGS,
     "lift_tokens(trans, codes, offsets, init, class_out, max_work) -> (nodes, C, rows): groups V "
     "code strings (codes uint8 at offsets (V + 1,) int64) by their end states over trans (S, NC) "
     "int32 from every state of init (R,) int32. Writes class_out (V,) int32 and returns the "
     "classes' end states as bytes of (C, R) int32, or rows None when nodes x R > max_work "
     "(nothing written)."},
    {nullptr, nullptr, 0, nullptr}};

}  // namespace

PyMethodDef* token_lift_methods() { return kMethods; }

}  // namespace twinkle
