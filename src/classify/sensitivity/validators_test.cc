#include "classify/sensitivity/validators.h"

#include <gtest/gtest.h>

#include "classify/sensitivity/rules.h"

namespace hybridgate::sensitivity {
namespace {

struct BoolCase {
  const char* input;
  bool want;
};

TEST(ValidatorsTest, Luhn) {
  for (const BoolCase& c : std::initializer_list<BoolCase>{{"4111 1111 1111 1111", true},
                                                           {"378282246310005", true},
                                                           {"4111111111111112", false},
                                                           {"0", true},
                                                           {"", false},
                                                           {"1234567812345678", false}}) {
    EXPECT_EQ(LuhnValid(c.input), c.want) << c.input;
  }
}

TEST(ValidatorsTest, CardPrefix) {
  for (const BoolCase& c : std::initializer_list<BoolCase>{{"4111111111111111", true},
                                                           {"4111111111111", true},
                                                           {"41111111111111", false},
                                                           {"5500000000000004", true},
                                                           {"2223003122003222", true},
                                                           {"2720993122003222", true},
                                                           {"2721003122003222", false},
                                                           {"378282246310005", true},
                                                           {"3782822463100050", false},
                                                           {"6011111111111117", true},
                                                           {"3530111333300000", true},
                                                           {"30569309025904", true},
                                                           {"6200000000000005", true},
                                                           {"9400111899562537", false},
                                                           {"1234567812345678", false}}) {
    EXPECT_EQ(KnownCardPrefix(c.input), c.want) << c.input;
  }
}

TEST(ValidatorsTest, Iban) {
  for (const BoolCase& c :
       std::initializer_list<BoolCase>{{"DE89370400440532013000", true},
                                       {"DE89 3704 0044 0532 0130 00", true},
                                       {"GB29NWBK60161331926819", true},
                                       {"FR1420041010050500013M02606", true},
                                       {"NO9386011117947", true},
                                       {"DE89370400440532013001", false},  // check digits
                                       {"DE8937040044053201300", false},   // length for DE
                                       {"XX89370400440532013000", false},  // unknown country
                                       {"de89370400440532013000", true},   // any case
                                       {"de89-3704-0044-0532-0130-00", true},
                                       {"DE89 3704-0044 0532 0130 00", true},
                                       {"DE89.3704.0044.0532.0130.00", true},       // dotted
                                       {"DE89\n3704\r\n0044\t0532 0130 00", true},  // broken
                                       {"DE89.3704.0044.0532.0130.01", false},
                                       {"DE89_3704_0044_0532_0130_00", false},
                                       {"", false}}) {
    EXPECT_EQ(IbanValid(c.input), c.want) << c.input;
  }
}

TEST(ValidatorsTest, UsSsn) {
  for (const BoolCase& c : std::initializer_list<BoolCase>{{"536-22-1234", true},
                                                           {"899-99-9999", true},
                                                           {"078 05 1120", true},
                                                           {"000-12-3456", false},
                                                           {"666-12-3456", false},
                                                           {"900-12-3456", false},
                                                           {"123-00-4567", false},
                                                           {"123-45-0000", false},
                                                           {"123-45 6789", false},
                                                           {"536.22.1234", true},
                                                           {"123456789", false}}) {
    EXPECT_EQ(UsSsnValid(c.input), c.want) << c.input;
  }
}

TEST(ValidatorsTest, UsSsnAnySeparators) {
  for (const BoolCase& c : std::initializer_list<BoolCase>{{"536-22-1234", true},
                                                           {"123-45 6789", true},
                                                           {"536 22.1234", true},
                                                           {"666 12-3456", false},
                                                           {"53622-1234", false},
                                                           {"536221234", false}}) {
    EXPECT_EQ(UsSsnValidAnySeparators(c.input), c.want) << c.input;
  }
}

TEST(ValidatorsTest, Ipv4) {
  for (const BoolCase& c : std::initializer_list<BoolCase>{{"192.168.1.1", true},
                                                           {"0.0.0.0", true},
                                                           {"255.255.255.255", true},
                                                           {"256.1.1.1", false},
                                                           {"1.2.3", false},
                                                           {"1.2.3.4.5", false},
                                                           {"01.2.3.4", false},
                                                           {"1..3.4", false}}) {
    EXPECT_EQ(Ipv4Valid(c.input), c.want) << c.input;
  }
}

TEST(ValidatorsTest, Ipv6) {
  for (const BoolCase& c :
       std::initializer_list<BoolCase>{{"2001:0db8:85a3:0000:0000:8a2e:0370:7334", true},
                                       {"2001:db8::1", true},
                                       {"::1", true},
                                       {"::", true},
                                       {"fe80::", true},
                                       {"::ffff:192.168.1.1", true},
                                       {"1:2:3:4:5:6:7:8", true},
                                       {"1:2:3:4:5:6:7", false},
                                       {"1:2:3:4:5:6:7:8:9", false},
                                       {"1::2::3", false},
                                       {"12345::1", false},
                                       {"00:1A:2B:3C:4D:5E", false},
                                       {"12:30:45", false},
                                       {":1:2:3:4:5:6:7", false},
                                       {"1:2:3:4:5:6:7:", false}}) {
    EXPECT_EQ(Ipv6Valid(c.input), c.want) << c.input;
  }
}

TEST(ValidatorsTest, Entropy) {
  EXPECT_DOUBLE_EQ(ShannonEntropy(""), 0.0);
  EXPECT_DOUBLE_EQ(ShannonEntropy("aaaa"), 0.0);
  EXPECT_DOUBLE_EQ(ShannonEntropy("abcd"), 2.0);
  EXPECT_GT(ShannonEntropy("9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c"), 3.5);
}

TEST(ValidatorsTest, PlausibleDate) {
  for (const BoolCase& c : std::initializer_list<BoolCase>{{"1985-03-14", true},
                                                           {"03/14/1985", true},
                                                           {"14.03.1985", true},
                                                           {"14/03/85", true},
                                                           {"March 14, 1985", true},
                                                           {"14th of March 1985", true},
                                                           {"Sept 3 2001", true},
                                                           {"1985-13-14", false},
                                                           {"13/13/1985", false},
                                                           {"32/01/1985", false},
                                                           {"01/01/1800", false},
                                                           {"Foo 14, 1985", false}}) {
    EXPECT_EQ(PlausibleDate(c.input), c.want) << c.input;
  }
}

TEST(ValidatorsTest, SecretValue) {
  for (const BoolCase& c :
       std::initializer_list<BoolCase>{{"Xk9#mP2vL7qR4!wZ", true},
                                       {"9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c", true},
                                       {"Summer2024!", true},
                                       {"hunter2", false},                   // too short to judge
                                       {"changeme", false},                  // placeholder
                                       {"${DB_PASSWORD}", false},            // reference
                                       {"settings.SECRET_KEY", false},       // dotted identifier
                                       {"prod/db/credentials", false},       // a name
                                       {"https://auth.corp/token", false},   // a URL
                                       {"sk-your-key-here-please", false},   // placeholder
                                       {"aaaaaaaaaaaaaaaaaaaaaaaa", false},  // no entropy
                                       {"REPLACE_ME_LATER", false}}) {
    EXPECT_EQ(SecretValueOk(c.input, 3.0), c.want) << c.input;
  }
}

}  // namespace
}  // namespace hybridgate::sensitivity
