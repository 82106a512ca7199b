"""`python -m loader.sandbox`: the same command as `usage-loader sandbox`."""

from loader.sandbox.cli import sandbox

if __name__ == "__main__":
    sandbox(prog_name="usage-loader sandbox")
