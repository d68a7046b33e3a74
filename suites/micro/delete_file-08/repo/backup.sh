print the release
