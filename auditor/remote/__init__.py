"""Remote-control programs, tunnels and OS remote features: collectors per source (processes, registry, files,
packages, units), the catalog index, the judge."""
