"""Sources turn the world (files, stdin, git) into Chunks. The only layer that reads repositories."""
