water the release
