"""Run the connector from a source checkout: `python main.py spec`."""

from source_partner_clients.run import run

if __name__ == "__main__":
    run()
