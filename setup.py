"""Packaging for the HubSpot partner_clients Airbyte source."""

from pathlib import Path

from setuptools import find_packages, setup

VERSION = "0.1.0"

setup(
    name="source-partner-clients",
    version=VERSION,
    description="Airbyte source for HubSpot's partner_clients CRM object, read by batch.",
    long_description=Path(__file__).with_name("README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    python_requires=">=3.11,<3.12",
    packages=find_packages(include=["source_partner_clients", "source_partner_clients.*"]),
    package_data={"source_partner_clients": ["manifest.yaml"]},
    install_requires=[
        "airbyte-cdk>=7.39.1,<8",
        "requests>=2.31,<3",
        "jsonschema>=4.17,<5",
    ],
    extras_require={
        "tests": [
            "pytest>=8,<10",
            "requests-mock>=1.11,<2",
            "hypothesis>=6,<7",
            "ruff>=0.6",
        ],
    },
    entry_points={
        "console_scripts": ["source-partner-clients=source_partner_clients.run:run"],
    },
)
