from fastapi import APIRouter

router = APIRouter(prefix="/voting", tags=["voting"])
