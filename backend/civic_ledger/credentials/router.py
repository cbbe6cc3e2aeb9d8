from fastapi import APIRouter

router = APIRouter(prefix="/credentials", tags=["credentials"])
