"""Wire shapes of the drawer and chat routes (wire-api.md 4.7-4.17); times in seconds."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel


class Project(BaseModel):
    id: str
    cwd: str
    title: str
    lastUpdatedAt: int
    chatCount: int = 0  # additive


class ChatThread(BaseModel):
    id: str
    projectId: str
    title: str
    preview: str
    updatedAt: int
    cwd: str | None = None  # additive
    status: str | None = None  # additive: idle / active / systemError / notLoaded
    isRunning: bool | None = None  # additive (GET /v1/chats): a turn of ours is running
    pendingApprovals: int | None = None  # additive (GET /v1/chats): open approvals


class Activation(BaseModel):
    chatId: str
    status: Literal["already_active", "resumed", "no_rollout"]


class RunState(BaseModel):
    chatId: str
    isRunning: bool
    activeTurnId: str | None = None


class SendResult(BaseModel):
    chatId: str
    turnId: str | None = None


class SteerResult(BaseModel):
    chatId: str
    mode: Literal["steered", "started"]
    turnId: str | None = None


class StopResult(BaseModel):
    chatId: str
    interrupted: bool
    turnId: str | None = None
