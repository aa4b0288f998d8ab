// What the sensitivity scanner reports: typed byte ranges and the data class they imply.
// Plain values, safe to copy and to keep after the Scanner that produced them is gone.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace hybridgate::sensitivity {

// Data classes, ordered: a request may go wherever its highest class is allowed.
inline constexpr int kClassPublic = 1;
inline constexpr int kClassInternal = 2;
inline constexpr int kClassPersonal = 3;    // customer personal data
inline constexpr int kClassRegulated = 4;   // health, financial, credentials
inline constexpr int kClassRestricted = 5;  // air-gapped only
inline constexpr int kMinClass = kClassPublic;
inline constexpr int kMaxClass = kClassRestricted;

struct Finding {
  std::string type;       // "email", "credit_card", ... or a custom detector's name
  std::size_t start = 0;  // byte offset of the first byte in the scanned text
  std::size_t end = 0;    // byte offset one past the last byte
  int data_class = kClassPublic;
  std::size_t text_index = 0;  // which text of Classify()'s input; 0 for Scan()

  std::size_t size() const { return end - start; }
  friend bool operator==(const Finding&, const Finding&) = default;
};

struct Classification {
  int data_class = kClassPublic;  // max over findings, at least the configured floor
  std::vector<Finding> findings;  // sorted by (text_index, start)
};

}  // namespace hybridgate::sensitivity
