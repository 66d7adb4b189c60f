"""yuncang-auditor: personal-information leak auditor for cloud-warehouse and logistics office PCs."""

__version__ = "0.1.0"
TOOL_NAME = "yuncang-auditor"
