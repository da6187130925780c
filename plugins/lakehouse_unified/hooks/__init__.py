"""Hooks: all IO (pyiceberg metadata, the job subprocess, EMR Serverless, local/S3 text objects)."""
