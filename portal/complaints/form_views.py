"""Routes: filled in by the complaints capability."""

from fastapi import APIRouter

router = APIRouter()
