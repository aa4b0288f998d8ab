// The dashboard's pages, compiled into the binary (assets.cc is generated at build time by
// embed.cmake from web/ and the npm packages web/package-lock.json pins): no CDN, no second
// server, works air-gapped.
#pragma once

#include <span>
#include <string_view>

namespace hybridgate::dashboard {

struct Asset {
  std::string_view name;  // "index.html", "uPlot.min.js", … (served at /ui/<name>)
  std::string_view body;
};

std::span<const Asset> Assets();
const Asset* FindAsset(std::string_view name);
// By the name's extension: text/html, text/javascript, text/css, image/svg+xml.
std::string_view ContentType(std::string_view name);

}  // namespace hybridgate::dashboard
