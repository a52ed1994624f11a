// Finding the files the programs load rather than compile in (assets/ at the repository root: the
// inspector's font and icon, default prompts, sample recipes, inspector scripts). They are looked
// for, in order, in $BITLENS_ASSETS, next to the running binary (<exe dir>/assets, then
// <exe dir>/../share/bitlens/assets, where `cmake --install` puts them) and in the source tree the
// binary was built from.
#pragma once

#include <string>
#include <vector>

namespace bitlens {

// The folders searched, in order (the environment's only when BITLENS_ASSETS is set and not empty).
std::vector<std::string> asset_roots();

// The first `root/relative` that is a regular file; throws Error naming the file and every folder
// searched when none is.
std::string find_asset(const std::string& relative, const std::vector<std::string>& roots);

// find_asset(relative, asset_roots()).
std::string asset_path(const std::string& relative);

}  // namespace bitlens
