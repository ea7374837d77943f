// Per-group GRPO / RLOO / pass@k advantage logic, shared by csrc/cpu/group_advantage.cpp and
// csrc/cuda/group_advantage.cu. Plain functions on raw pointers; no torch or CUDA headers.
//
// Invariants:
//  * rewards are float32 or float64 (the template parameter R) and are read as given:
//    float64 rewards are never rounded to float32 before the statistics (1e8 and 1e8 + 1
//    are one float32). Advantages are float32.
//  * A reward that is not finite (NaN: the reward abstained; +-inf: unscorable) is left out
//    of every statistic (count, mean, M2, min, max, second max) and its advantage is
//    exactly 0. One rule for all three, so one inf cannot turn its group's mean and std
//    into NaN.
//  * A group is "flat" when its valid rewards are all equal (max == min) or it has fewer
//    than two valid rewards. Every advantage in a flat group is exactly 0: we test
//    max == min rather than a small std, so rounding in the mean never leaks noise
//    (TRL's (r - mean) / (std + eps) turns 1e-9 of rounding into 1e-5 of signal).
//    A singleton group is flat: one sample has no baseline to compare against.
//  * Statistics are two-pass (sum, then squared deviations from the mean), accumulated in
//    double: a one-pass sum of squares cancels catastrophically for rewards near 1e4.
//  * Members of a group are addressed through an Index functor, so the same code serves
//    contiguous groups (member k of group g at g*G + k) and ragged groups given by a
//    permutation that lists each group's members together.
#pragma once

#include <cmath>
#include <cstdint>

#include "twinkle/macros.h"

namespace twinkle {

// Baseline subtracted from each reward (mirrored by twinkle.constants.Baseline).
enum Baseline : int64_t {
  kBaselineMean = 0,        // GRPO: the group mean.
  kBaselineLeaveOneOut = 1,  // RLOO: the mean of the other valid members.
  kBaselineSecondMax = 2,    // pass@k: the runner-up for a sole best member, else r itself.
};

// Divisor applied after the baseline (mirrored by twinkle.constants.Scale).
enum Scale : int64_t {
  kScaleNone = 0,   // Dr. GRPO / RLOO: no division.
  kScaleGroup = 1,  // GRPO: the group's std (+ eps).
};

// Finiteness test that needs neither std:: (host) nor CUDA's overloads (device): false
// for NaN (every comparison with it is false) and for +-inf.
template <typename R>
TWINKLE_HD bool is_valid_reward(R x) {
  return x > -static_cast<R>(INFINITY) && x < static_cast<R>(INFINITY);
}

struct GroupStats {
  int64_t count;  // valid (finite) members
  double mean;
  double m2;      // sum of squared deviations from mean
  double min;     // exact: every float32 or float64 reward is a double
  double max;
  double second;  // largest valid reward once one max is set aside (== max on a tie)
};

struct ContiguousIndex {
  int64_t base;
  TWINKLE_HD int64_t operator()(int64_t k) const { return base + k; }
};

struct PermutedIndex {
  const int64_t* order;  // order[start + k] is the position of member k
  int64_t start;
  TWINKLE_HD int64_t operator()(int64_t k) const { return order[start + k]; }
};

template <typename R, typename Index>
TWINKLE_HD GroupStats group_stats(const R* rewards, Index idx, int64_t n) {
  GroupStats s{0, 0.0, 0.0, INFINITY, -INFINITY, -INFINITY};
  double sum = 0.0;
  for (int64_t k = 0; k < n; ++k) {
    const R r = rewards[idx(k)];
    if (!is_valid_reward(r)) continue;
    const double x = static_cast<double>(r);
    s.count += 1;
    sum += x;
    s.min = x < s.min ? x : s.min;
    if (x > s.max) {
      s.second = s.max;
      s.max = x;
    } else if (x > s.second) {
      s.second = x;
    }
  }
  if (s.count == 0) return s;
  s.mean = sum / static_cast<double>(s.count);
  for (int64_t k = 0; k < n; ++k) {
    const R r = rewards[idx(k)];
    if (!is_valid_reward(r)) continue;
    const double d = static_cast<double>(r) - s.mean;
    s.m2 += d * d;
  }
  return s;
}

TWINKLE_HD bool group_is_flat(const GroupStats& s) {
  return s.count < 2 || s.max == s.min;
}

// Writes the advantage of every member and whether the group is kept by DAPO's dynamic
// sampling (true when the group is not flat).
template <typename R, typename Index>
TWINKLE_HD void group_apply(const R* rewards, Index idx, int64_t n, const GroupStats& s,
                            int64_t baseline, int64_t scale, float eps, bool unbiased,
                            float* adv, bool* keep) {
  const bool flat = group_is_flat(s);
  double inv = 1.0;
  if (!flat && scale == kScaleGroup) {
    const double dof = unbiased ? static_cast<double>(s.count - 1) : static_cast<double>(s.count);
    inv = 1.0 / (sqrt(s.m2 / dof) + static_cast<double>(eps));
  }
  const double n_valid = static_cast<double>(s.count);
  for (int64_t k = 0; k < n; ++k) {
    const int64_t i = idx(k);
    const R r = rewards[i];
    keep[i] = !flat;
    if (flat || !is_valid_reward(r)) {
      adv[i] = 0.0f;
      continue;
    }
    double base = s.mean;
    if (baseline == kBaselineLeaveOneOut) {
      // Mean of the other valid members; flat groups (count < 2) never reach here.
      base = (s.mean * n_valid - static_cast<double>(r)) / (n_valid - 1.0);
    } else if (baseline == kBaselineSecondMax) {
      // Only a sole best member scores, by its margin over the runner-up; a tie for the
      // best has second == max, and every other member is its own baseline: exactly 0.
      const double x = static_cast<double>(r);
      base = x == s.max ? s.second : x;
    }
    adv[i] = static_cast<float>((static_cast<double>(r) - base) * inv);
  }
}

// One whole group: statistics, then advantages.
template <typename R, typename Index>
TWINKLE_HD void group_advantage_one(const R* rewards, Index idx, int64_t n, int64_t baseline,
                                    int64_t scale, float eps, bool unbiased, float* adv,
                                    bool* keep) {
  const GroupStats s = group_stats(rewards, idx, n);
  group_apply(rewards, idx, n, s, baseline, scale, eps, unbiased, adv, keep);
}

// Ragged groups: sorted_ids is group_ids permuted by `order` (ascending). Position p of the
// sorted array starts a group when p == 0 or its id differs from the previous one; the
// group runs while the id stays the same. Returns the group's length at a head, else 0.
TWINKLE_HD int64_t segment_length_at(const int64_t* sorted_ids, int64_t batch, int64_t p) {
  if (p > 0 && sorted_ids[p] == sorted_ids[p - 1]) return 0;
  int64_t end = p + 1;
  while (end < batch && sorted_ids[end] == sorted_ids[p]) ++end;
  return end - p;
}

}  // namespace twinkle
