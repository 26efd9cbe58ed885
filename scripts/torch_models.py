"""The chapter's ConvAutoencoder in PyTorch, shared by the fixture, interop and benchmark scripts."""
import torch.nn as nn


class ConvAutoencoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = nn.Sequential(
            nn.Conv2d(1, 16, 4), nn.ReLU(), nn.MaxPool2d(2, 2),
            nn.Conv2d(16, 4, 4), nn.ReLU(), nn.AvgPool2d(9),
        )
        self.decoder = nn.Sequential(
            nn.ConvTranspose2d(4, 16, 5, stride=2), nn.ReLU(),
            nn.ConvTranspose2d(16, 4, 5, stride=2), nn.ReLU(),
            nn.ConvTranspose2d(4, 1, 4, stride=2), nn.Sigmoid(),
        )

    def forward(self, x):
        return self.decoder(self.encoder(x))
