// Checks that run on a candidate after the Hyperscan pass: checksums, value ranges and entropy.
// Pure functions on bytes; each is linear in its (bounded) input.
#pragma once

#include <cstddef>
#include <string_view>

namespace hybridgate::sensitivity {

// Luhn over the digits of `text`, ignoring everything else.
bool LuhnValid(std::string_view text);
// Card number (digits only, 13..19): known IIN prefix with a length that network issues.
bool KnownCardPrefix(std::string_view digits);
// The same from the number's first (up to) four digits and its length.
bool KnownCardIin(std::string_view first_digits, std::size_t length);
// IBAN in either case, with spaces or dashes between groups: known country, that country's
// length, ISO 7064 mod-97 == 1.
bool IbanValid(std::string_view text);
// The IBAN length of a country (upper-case code), 0 for a country without IBANs.
int IbanLength(char a, char b);
// AAA-GG-SSSS (one separator byte, the same twice): area not 000/666/9xx, group not 00, serial
// not 0000.
bool UsSsnValid(std::string_view text);
// The same with the two separator bytes allowed to differ ("123 45-6789"), for SSNs that follow
// SSN context.
bool UsSsnValidAnySeparators(std::string_view text);
// Dotted quad with every octet 0..255 and no leading zeros ("01" is rejected).
bool Ipv4Valid(std::string_view text);
// RFC 4291 text form, with optional embedded IPv4 tail; no zone id.
bool Ipv6Valid(std::string_view text);
// Shannon entropy in bits per byte.
double ShannonEntropy(std::string_view text);
// A calendar date in one of the formats the date_of_birth detector matches, with a plausible
// year (1900..2099, or two digits) and month/day ranges in either d/m or m/d order.
bool PlausibleDate(std::string_view text);

}  // namespace hybridgate::sensitivity
